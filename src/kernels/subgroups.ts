/** Whether the subgroup kernels can run on this device, and where the plans prefer them. */
import type { AdapterCaps } from '../gpu/device.js';
import { getRuntime } from '../tensor/engine.js';

/** The global directives of the subgroup kernels (those built on shaders/sg_tile_common.wgsl). */
export const SUBGROUP_DIRECTIVES = ['enable subgroups', 'diagnostic(off, subgroup_uniformity)'] as const;

/** The device has 'subgroups' and (where the adapter says) subgroups of at least 8 lanes (AdapterCaps.subgroups). */
export function subgroupsUsable(): boolean {
  return getRuntime().caps.subgroups;
}

/**
 * Whether a plan left to choose takes the subgroup register-tile kernels (matmul_sg, conv2d_*_sg): on
 * software adapters with usable subgroups. They were built for lavapipe, where every per-lane load is a
 * gather and a broadcast is cheap, and they beat the tiled kernels there. On a hardware GPU the
 * register-tiled kernels win: on an NVIDIA H200 (Dawn on NVIDIA's Vulkan driver, ResNet-18's convolutions
 * at batch 32) the tiled conv kernels were faster than the subgroup ones on every shape but two (equal
 * within noise), and the tiled matmul faster too (figures: bench/RESULTS.md, "Figures behind the kernel
 * choices (moved from code comments, 2026-12-05)").
 */
export function subgroupTilesPreferred(caps: AdapterCaps): boolean {
  return caps.software && caps.subgroups;
}

/** Whether a plan takes the subgroup kernels: forced ('sg'), or left to choose (unset) where they are preferred. */
export function takesSubgroupTiles(choice: string | undefined, caps: AdapterCaps): boolean {
  return choice === 'sg' || (choice === undefined && subgroupTilesPreferred(caps));
}
