// Filled in by the spatial op family (see engine/index.ts).
export {};
