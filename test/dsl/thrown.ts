import { NetworkError } from "netdef";

/** The NetworkError a definition throws, for asserting on its message and issues. */
export function thrown(define: () => unknown): NetworkError {
  try {
    define();
  } catch (error) {
    if (error instanceof NetworkError) return error;
    throw error;
  }
  throw new Error("expected a NetworkError");
}
