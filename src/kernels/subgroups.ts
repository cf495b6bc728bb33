/** Whether the subgroup kernels can run on this device (shared by the matmul and conv2d launchers). */
import { getRuntime } from '../tensor/engine.js';

/** The device has 'subgroups' and (where the adapter says) subgroups of at least 8 lanes. */
export function subgroupsUsable(): boolean {
  const rt = getRuntime();
  if (!rt.device.features.has('subgroups')) return false;
  const info = (rt.device as unknown as { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo;
  return !(info && typeof info.subgroupMinSize === 'number' && info.subgroupMinSize > 0 && info.subgroupMinSize < 8);
}
