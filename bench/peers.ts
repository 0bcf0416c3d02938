// Peer baselines for W1–W4, copied from ../shared/peers/RESULTS.md ("Main
// table: median ms"), measured 2026-11-25 on this project's 2-core CPU
// machine (AVX-512, no GPU). Only comparable with our rows measured on that
// machine's CPU adapter (Dawn/llvmpipe). The peers have no separate dX and dW
// numbers; `lmfn bench kernels --tfjs` measures those live (bench/tfjs.ts).

export const PEER_SOURCE = '../shared/peers/RESULTS.md (2026-11-25, 2-core Xeon KVM guest, no GPU; median of 9–18 samples)';

export interface PeerWorkload {
  key: string;
  what: string;
}

export const PEER_WORKLOADS: PeerWorkload[] = [
  { key: 'W1_fwd', what: 'W1 conv 3×3 64→64, 1×64×128×128, fwd' },
  { key: 'W1_dX', what: 'W1 dX' },
  { key: 'W1_dW', what: 'W1 dW' },
  { key: 'W1_fwdbwd', what: 'W1 fwd + bwd (dX, dW)' },
  { key: 'W2_fwd', what: 'W2 conv 3×3 s2 64→64, 1×64×128×128 → 64², fwd' },
  { key: 'W2_dX', what: 'W2 dX' },
  { key: 'W2_dW', what: 'W2 dW' },
  { key: 'W2_fwdbwd', what: 'W2 fwd + bwd (dX, dW)' },
  { key: 'W3_matmul', what: 'W3 matmul 1024³' },
  { key: 'W4_attn', what: 'W4 softmax(X·Xᵀ)·X, X 256×4096' },
];

export interface Peer {
  id: string;
  name: string;
  /** Median ms per workload; absent where the peer could not run it. */
  ms: Partial<Record<string, number>>;
}

export const PEERS: Peer[] = [
  { id: 'P1', name: 'tfjs-webgpu 4.22, Dawn/llvmpipe', ms: { W1_fwd: 176, W1_fwdbwd: 2369, W2_fwd: 44.0, W2_fwdbwd: 613, W3_matmul: 291, W4_attn: 224 } },
  { id: 'P4', name: 'PyTorch 1.13 CPU, 2 threads', ms: { W1_fwd: 6.81, W1_fwdbwd: 15.0, W2_fwd: 1.59, W2_fwdbwd: 4.29, W3_matmul: 6.52, W4_attn: 7.58 } },
  { id: 'P2', name: 'tfjs-wasm 4.22 SIMD, 1 thread', ms: { W1_fwd: 33.6, W2_fwd: 8.72, W3_matmul: 63.7, W4_attn: 226 } },
  { id: 'P5', name: 'best hand-written WGSL probe, Dawn/llvmpipe', ms: { W1_fwd: 142, W3_matmul: 160 } },
];
