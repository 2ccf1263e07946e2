// The one Buffer call the shared runtime modules make (topic.ts: a filter's byte length), for the browser bundle.
export const Buffer = {
  byteLength: (text: string): number => new TextEncoder().encode(text).length,
};
