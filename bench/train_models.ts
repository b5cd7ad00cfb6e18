/**
 * The models of the training benchmark (bench/bench_train.ts) and of its parity check
 * (bench/parity_train.ts): where each lives, its batch, and its PyTorch twin.
 */

/** A benchmark model with a train section. */
export interface TrainModel {
  /** The name in reports, which `--only` matches. */
  name: string;
  /** A short name for files and directories. */
  id: string;
  /** The .dlm file, relative to the repository root. */
  file: string;
  /** The train section's model. */
  model: string;
  /** Samples per step. */
  batch: number;
  /** Sizes of symbolic dims other than the batch N. */
  dims?: Record<string, number>;
  /**
   * The PyTorch twin in bench/torch_train_ratio.py's names (and, with `sgd`, bench/torch_parity.py's):
   * torchvision's model with the same parameter names and counts (num_classes=10), or a
   * hand-written GPT-2 of the same shape.
   */
  torch?: string;
  /** The train section's SGD (lr, momentum), which the parity check's torch side repeats. */
  sgd?: { lr: number; momentum: number };
  /**
   * Model parameters that make a training step deterministic (dropout and stochastic depth off),
   * for the parity check.
   */
  deterministic?: Record<string, number>;
}

/**
 * ResNet-18, MobileNetV2, ShuffleNetV2 x1.0, ResNeXt-50 32x4d, EfficientNet-B0, DenseNet-121 and
 * ConvNeXt-Tiny at 32x32, batch 16; GPT-2.
 */
export const TRAIN_MODELS: TrainModel[] = [
  {
    name: "resnet18 32x32",
    id: "resnet18",
    file: "bench/resnet18_train.dlm",
    model: "ResNet18Small",
    batch: 16,
    torch: "resnet18",
    sgd: { lr: 0.1, momentum: 0.9 },
  },
  {
    name: "mobilenet_v2 32x32",
    id: "mobilenet_v2",
    file: "bench/models/mobilenet_v2.dlm",
    model: "MobileNetV2",
    batch: 16,
    torch: "mobilenet_v2",
    sgd: { lr: 0.05, momentum: 0.9 },
    deterministic: { drop: 0 },
  },
  {
    name: "shufflenet_v2 32x32",
    id: "shufflenet_v2",
    file: "bench/models/shufflenet_v2.dlm",
    model: "ShuffleNetV2",
    batch: 16,
    torch: "shufflenet_v2",
    sgd: { lr: 0.05, momentum: 0.9 },
  },
  {
    name: "resnext50 32x32",
    id: "resnext50",
    file: "bench/models/resnext50.dlm",
    model: "ResNeXt50",
    batch: 16,
    torch: "resnext50_32x4d",
    sgd: { lr: 0.05, momentum: 0.9 },
  },
  {
    name: "efficientnet_b0 32x32",
    id: "efficientnet_b0",
    file: "bench/models/efficientnet_b0.dlm",
    model: "EfficientNetB0",
    batch: 16,
    torch: "efficientnet_b0",
    sgd: { lr: 0.05, momentum: 0.9 },
    deterministic: { drop: 0, sd_prob: 0 },
  },
  {
    name: "densenet121 32x32",
    id: "densenet121",
    file: "bench/models/densenet121.dlm",
    model: "DenseNet121",
    batch: 16,
    torch: "densenet121",
    sgd: { lr: 0.05, momentum: 0.9 },
    deterministic: { drop: 0 },
  },
  {
    name: "convnext_tiny 32x32",
    id: "convnext_tiny",
    file: "bench/models/convnext_tiny.dlm",
    model: "ConvNeXtTiny",
    batch: 16,
    torch: "convnext_tiny",
    sgd: { lr: 0.05, momentum: 0.9 },
    deterministic: { stochastic_depth_prob: 0 },
  },
  {
    name: "gpt2 mini T=64",
    id: "gpt2_mini",
    file: "bench/gpt2_train.dlm",
    model: "GPT2Mini",
    batch: 8,
    dims: { T: 64 },
    torch: "gpt2_mini",
  },
];

/** The models whose name contains `only` (all when undefined); an unknown name is an error. */
export function selectModels(models: readonly TrainModel[], only?: string): TrainModel[] {
  if (only === undefined) return [...models];
  const picked = models.filter((m) => m.name.includes(only));
  if (picked.length === 0) {
    throw new Error(
      `--only ${only} matches no model; the models are ${models.map((m) => m.name).join(", ")}`,
    );
  }
  return picked;
}
