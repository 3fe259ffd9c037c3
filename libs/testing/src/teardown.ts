/** The part of a tap `Test` these helpers need, so libs do not depend on tap. */
export interface Teardown {
  teardown: (fn: () => unknown) => void
}
