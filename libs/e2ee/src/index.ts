// libsodium end-to-end encryption; see DESIGN.md "End-to-end encryption".
export {}
