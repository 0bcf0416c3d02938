// The identity start: LMFN's own layers set so that the network computes its
// input exactly, with the architecture and parameter count unchanged.
// LMFN has no global skip, so from the paper's initialisation (§9) it first
// spends thousands of steps learning to copy its input and starts about 10 dB
// below the blurred picture; from this start it is at the blurred picture's
// PSNR at step 0 and training has only the deblurring to learn.
//
// The path the picture takes (s = x − mean, K = IDENTITY_OFFSET):
// - encoder.head: channels 0–2 are s + K, positive, so the LeakyReLU passes them;
// - encoder.down1, down2: space-to-depth by one unit tap per output channel,
//   3 → 12 → 48 channels holding each 4×4 pixel block at 1/4 scale;
// - encoder.down3, down4 and the second conv of every ResBlock are zero: the
//   coarse path adds nothing and each ResBlock passes its input, so the encoder
//   output is down2's;
// - decoder.head puts the 48 channels in pixel-shuffle order and removes K;
// - decoder.fuse is zero, so the long skip carries decoder.head's output past
//   the RFDBs, ALFM and ACFM; decoder.tail is the identity on those 48 channels,
//   and pixel shuffle ×4 plus the mean gives x back.
// Every other weight keeps the paper's initialisation, so no path is dead: the
// layers behind a zero conv get gradient from the step after it first moves
// (the RFDBs, ALFM and ACFM at step 2, behind decoder.fuse).
//
// Only leading rows of each tensor change (output channels come first in the
// [out, in, kh, kw] layout), so this is a list of prefix writes.

/** The constant that keeps the pixel channels positive through the encoder's LeakyReLUs. */
export const IDENTITY_OFFSET = 1;

export type LMFNInit = 'paper' | 'identity';
export const LMFN_INITS: readonly LMFNInit[] = ['paper', 'identity'];

export function isLMFNInit(value: unknown): value is LMFNInit {
  return LMFN_INITS.includes(value as LMFNInit);
}

/** `data` replaces the elements of parameter `name` from flat index 0 on. */
export interface PrefixWrite {
  name: string;
  data: Float32Array;
}

const TAPS = 9; // 3×3 kernels throughout
const ENCODER_CHANNELS = 64;
const DECODER_CHANNELS = 50;
const PIXELS = 48; // 3 colours × a 4×4 block
const RESBLOCKS = ['res4', 'res3a', 'res3b', 'res2.0', 'res2.1', 'res2.2', 'res2.3', 'res2.4'];

/** Weight rows [rows, inChannels, 3, 3], zero but for a 1 at (row, source(row), ky, kx) for each row. */
function unitTaps(rows: number, inChannels: number, tap: (row: number) => [source: number, ky: number, kx: number]): Float32Array {
  const w = new Float32Array(rows * inChannels * TAPS);
  for (let row = 0; row < rows; row++) {
    const [source, ky, kx] = tap(row);
    w[(row * inChannels + source) * TAPS + ky * 3 + kx] = 1;
  }
  return w;
}

/** Space-to-depth by a stride-2, pad-1 3×3 conv: output channel 4c + 2dy + dx takes input c at (2i+dy, 2j+dx). */
const spaceToDepth = (rows: number) => unitTaps(rows, ENCODER_CHANNELS, (row) => [row >> 2, 1 + ((row >> 1) & 1), 1 + (row & 1)]);

/**
 * The encoder channel that holds pixel-shuffle channel t = 16c + 4ry + rx (colour c at offset
 * (ry, rx) of its 4×4 block): down1 put offset (ry & 1, rx & 1) in 4c + …, down2 (ry >> 1, rx >> 1) after it.
 */
export function encoderChannelOfShuffle(t: number): number {
  const c = t >> 4;
  const ry = (t >> 2) & 3;
  const rx = t & 3;
  return (4 * c + 2 * (ry & 1) + (rx & 1)) * 4 + 2 * (ry >> 1) + (rx >> 1);
}

/** The writes that turn a paper-initialised LMFN into the identity start. */
export function identityWrites(): PrefixWrite[] {
  const zeros = (n: number) => new Float32Array(n);
  const full = (n: number, v: number) => new Float32Array(n).fill(v);
  const conv = (name: string, weight: Float32Array, bias: Float32Array): PrefixWrite[] => [
    { name: `${name}.weight`, data: weight },
    { name: `${name}.bias`, data: bias },
  ];
  const zeroConv = (name: string, out: number, inChannels: number) => conv(name, zeros(out * inChannels * TAPS), zeros(out));
  return [
    ...conv('encoder.head', unitTaps(3, 3, (c) => [c, 1, 1]), full(3, IDENTITY_OFFSET)),
    ...conv('encoder.down1', spaceToDepth(12), zeros(12)),
    ...conv('encoder.down2', spaceToDepth(PIXELS), zeros(PIXELS)),
    ...zeroConv('encoder.down3', ENCODER_CHANNELS, ENCODER_CHANNELS),
    ...zeroConv('encoder.down4', ENCODER_CHANNELS, ENCODER_CHANNELS),
    ...RESBLOCKS.flatMap((r) => zeroConv(`encoder.${r}.conv2`, ENCODER_CHANNELS, ENCODER_CHANNELS)),
    ...conv('decoder.head', unitTaps(PIXELS, ENCODER_CHANNELS, (t) => [encoderChannelOfShuffle(t), 1, 1]), full(PIXELS, -IDENTITY_OFFSET)),
    ...zeroConv('decoder.fuse', DECODER_CHANNELS, 2 * DECODER_CHANNELS),
    ...conv('decoder.tail', unitTaps(PIXELS, DECODER_CHANNELS, (t) => [t, 1, 1]), zeros(PIXELS)),
  ];
}
