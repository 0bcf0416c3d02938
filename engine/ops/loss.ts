// Filled in by the loss op family (see engine/index.ts).
export {};
