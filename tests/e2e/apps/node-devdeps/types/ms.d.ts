// ms ships no types: the one signature this app uses.
declare module "ms" {
  function ms(value: number): string;
  export = ms;
}
