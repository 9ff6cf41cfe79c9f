// A turn of the event loop for long import work in the Worker: other requests the isolate serves
// (the switches' callbacks among them) run between two slices of a file instead of after all of it.
export const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
