// The project's WebAssembly modules (scripts/build-wasm.mjs embeds each, base64, in src/core/wasm/)
// are compiled once each, when first used.

/** A function that compiles the module `base64` holds on its first call and returns it from then on. */
export function lazyWasmModule(base64: string): () => WebAssembly.Module {
  let compiled: WebAssembly.Module | undefined;
  return () => {
    if (compiled === undefined) {
      const bin = atob(base64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      compiled = new WebAssembly.Module(bytes);
    }
    return compiled;
  };
}
