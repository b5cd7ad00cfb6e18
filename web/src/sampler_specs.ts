/**
 * The generative examples the sample viewer draws (samples.ts draws them in the training worker;
 * the page lists them): a module of data alone, so that the page's bundle takes none of the
 * compiler with it.
 */

/** A generative example: the file, its sampler model and how `dlm sample` is told to draw it. */
export interface SamplerSpec {
  file: string;
  sampler: string;
  n: number;
  nrow: number;
  /** Conditions, as `--set NAME=VALUES`. */
  set: Record<string, string>;
  /** What the viewer says it draws. */
  what: string;
}

const CLASSES = "0,1,2,3,4,5,6,7,8,9";

/** The generative examples of lang-examples/ the viewer draws, with their README commands. */
export const SAMPLERS: SamplerSpec[] = [
  {
    file: "vae_digits.dlm",
    sampler: "VaeDecoder",
    n: 64,
    nrow: 8,
    set: {},
    what: "the VAE's decoder on z ~ N(0, 1)",
  },
  {
    file: "cgan_digits.dlm",
    sampler: "CganSampler",
    n: 100,
    nrow: 10,
    set: { label: CLASSES },
    what: "the CGAN's generator, one class a column",
  },
  {
    file: "unet_ddpm_digits.dlm",
    sampler: "GuidedSampler",
    n: 40,
    nrow: 10,
    set: { label: CLASSES, guidance: "2" },
    what: "the guided DDPM (50 U-Net steps, w = 2), one class a column",
  },
];
