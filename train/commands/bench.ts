// Placeholder until the bench command lands (the bench helper replaces this file).
export const summary = 'benchmarks (not yet available)';
export const help = 'usage: lmfn bench kernels|model';
export async function run(): Promise<void> {
  throw new Error('lmfn bench is not available yet');
}
