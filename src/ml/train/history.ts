/** One epoch's figures, as kept in the checkpoint state and the metrics file. */
export interface EpochRecord {
  epoch: number;            // 1-based
  train_loss: number;
  train_part_loss: number;
  train_color_loss: number;
  val_part_top1: number;
  val_part_top5: number;
  val_color_acc: number | null;    // over val samples with a known color; null when none has one
  lr: number;               // at the epoch's last step
  images_per_sec: number;
  seconds: number;
}
