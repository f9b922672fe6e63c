// vega-lite declares its types only under package.json "exports", which this project's
// moduleResolution ("node") does not read; this points the bare specifier at them.
declare module 'vega-lite' {
  export * from 'vega-lite/build/index';
}
