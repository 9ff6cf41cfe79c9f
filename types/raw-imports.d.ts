// Vite's `?raw` suffix imports a file's text (used for the real FreeSWITCH captures in test/fixtures/freeswitch).
declare module "*?raw" {
  const text: string;
  export default text;
}
