// Filled in by the matmul op family (see engine/index.ts).
export {};
