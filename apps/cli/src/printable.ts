// Group titles and usernames are chosen by other people and are not
// end-to-end encrypted: before they reach the terminal, control characters
// (escape sequences could move the cursor, retitle the window or fake lines)
// become U+FFFD.

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g

export function printable (text: string): string {
  return text.replace(CONTROL, '\uFFFD')
}
