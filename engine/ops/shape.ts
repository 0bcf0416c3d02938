// Filled in by the shape op family (see engine/index.ts).
export {};
