// Filled in by the conv op family (see engine/index.ts).
export {};
