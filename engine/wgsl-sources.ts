// The WGSL sources of kernels/, by file name, when a build has inlined them.
//
// Empty in the source tree: there the host reads kernels/<file> the first time a
// kernel is built (engine/node/host.ts). The package build (scripts/build.mjs)
// replaces this module with one that holds every kernels/*.wgsl as text, so a
// bundle reads nothing at run time and kernels/*.wgsl stay the one source.

export const INLINED_WGSL: Readonly<Record<string, string>> = {};
