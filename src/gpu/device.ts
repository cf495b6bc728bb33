/// <reference types="@webgpu/types" preserve="true" />
/**
 * Getting a WebGPU device, in Node (Dawn through the npm package `webgpu`) or in a browser (`navigator.gpu`).
 * This file and its neighbours in src/gpu are the only code that knows which of the two it runs in.
 */

/** What the engine learned about the adapter it runs on (`getRuntime().report`). */
export interface AdapterReport {
  /** A human-readable name: vendor, architecture, device and description as far as the adapter tells. */
  name: string;
  /** True for software adapters (lavapipe, SwiftShader) where the adapter says so or its name gives it away. */
  software: boolean;
  /** The adapter's WebGPU features, sorted (e.g. 'shader-f16', 'subgroups', 'timestamp-query'). */
  features: string[];
  /** The adapter's limits by name (maxStorageBufferBindingSize, maxComputeWorkgroupStorageSize, ...). */
  limits: Record<string, number>;
  /** Whether the engine runs in Node (Dawn) or in a browser (`navigator.gpu`). */
  runtime: 'node' | 'browser';
}

/**
 * What the variant choices (the plans of src/kernels and src/nn/kernels.ts) read of an adapter and its device
 * (`getRuntime().caps`): the same facts give the same plans.
 */
export interface AdapterCaps {
  /** A software adapter (lavapipe, SwiftShader): AdapterReport.software. */
  software: boolean;
  /** The device has 'subgroups' and, where the adapter says, subgroups of at least 8 lanes. */
  subgroups: boolean;
  /** The adapter's maxStorageBufferBindingSize, in bytes. */
  maxStorageBufferBindingSize: number;
}

/** The capabilities of `device`, made from the adapter `report` describes. */
export function adapterCaps(device: GPUDevice, report: AdapterReport): AdapterCaps {
  const info = (device as unknown as { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo;
  const narrow = !!info && typeof info.subgroupMinSize === 'number' && info.subgroupMinSize > 0 && info.subgroupMinSize < 8;
  return Object.freeze({
    software: report.software,
    subgroups: device.features.has('subgroups') && !narrow,
    maxStorageBufferBindingSize: report.limits.maxStorageBufferBindingSize ?? 0,
  });
}

/** Thrown when no WebGPU adapter can be had; the message says how to get one on this platform. */
export class NoAdapterError extends Error {
  /** Always "NoAdapterError". */
  override name = 'NoAdapterError';
}

/**
 * What to ask the adapter and device for (the options of {@link init} and {@link acquireDevice} besides the
 * runtime's own).
 */
export interface DeviceRequest {
  /** Ask for the low-power or high-performance adapter where there is a choice. */
  powerPreference?: GPUPowerPreference;
  /**
   * 'compatibility' accepts an adapter of WebGPU's compatibility mode (browsers on OpenGL ES backends, for
   * example Chrome started with --use-webgpu-adapter=opengles), where a core one may be missing. Default: core.
   */
  featureLevel?: 'core' | 'compatibility';
  /** Ask for timestamp-query where the adapter has it (per-op GPU timing). Default true. */
  timestamps?: boolean;
  /** Options passed to Dawn in Node, e.g. ['enable-dawn-features=allow_unsafe_apis']. */
  dawnFlags?: string[];
}

/** A device with the adapter it came from and what the engine learned about that adapter. */
export interface AcquiredDevice {
  /** The WebGPU device, with the features and limits the engine asked for. */
  device: GPUDevice;
  /** The adapter the device was requested from. */
  adapter: GPUAdapter;
  /** The adapter's name, kind, features and limits. */
  report: AdapterReport;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

/** The instructions that fit the platform we run on, for when no adapter can be had. */
export function noAdapterHelp(): string {
  if (!isNode) {
    return (
      'This browser exposes no WebGPU adapter. Use a recent Chrome/Edge (WebGPU is on by default on Windows, ' +
      'macOS and ChromeOS; on Linux start it with --enable-unsafe-webgpu --enable-features=Vulkan), or Firefox ' +
      'Nightly / Safari Technology Preview with WebGPU enabled, and make sure the page is served over https or ' +
      'from localhost.'
    );
  }
  const platform = process.platform;
  if (platform === 'linux') {
    return (
      'No WebGPU adapter was found. Dawn needs a Vulkan driver. On a machine without a GPU driver, install ' +
      "Mesa's software Vulkan driver (lavapipe); Debian 12's own Mesa is too old, take it from bookworm-backports:\n" +
      "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list\n" +
      '  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1\n' +
      'On Ubuntu 24.04 or newer: apt-get install -y mesa-vulkan-drivers libvulkan1. With a GPU, install its ' +
      'vendor Vulkan driver (NVIDIA: the proprietary driver; AMD/Intel: mesa-vulkan-drivers). ' +
      '`vulkaninfo --summary` (package vulkan-tools) shows what Vulkan sees.'
    );
  }
  if (platform === 'darwin') return 'No WebGPU adapter was found. Dawn uses Metal on macOS 11 or newer; update macOS.';
  if (platform === 'win32') return 'No WebGPU adapter was found. Install a current GPU driver with Direct3D 12 support.';
  return `No WebGPU adapter was found, and the npm package 'webgpu' may have no build for ${platform}.`;
}

let nodeGpu: GPU | null = null;

async function getGpu(dawnFlags: string[]): Promise<GPU> {
  if (!isNode) {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) throw new NoAdapterError('navigator.gpu is missing. ' + noAdapterHelp());
    return gpu;
  }
  if (nodeGpu) return nodeGpu;
  if (!process.env.XDG_RUNTIME_DIR) {
    // Mesa warns on every start without it; any writable folder will do.
    // Variable specifiers here and below keep the bundlers of pages from following these Node-only imports.
    const os = 'node:os';
    const { tmpdir } = (await import(/* @vite-ignore */ os)) as { tmpdir: () => string };
    process.env.XDG_RUNTIME_DIR = tmpdir();
  }
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    const name = 'webgpu';
    mod = (await import(/* @vite-ignore */ name)) as typeof mod;
  } catch (e) {
    throw new NoAdapterError(
      `The npm package 'webgpu' could not be loaded (${(e as Error).message}). Run \`npm ci\` in the project folder.`,
    );
  }
  Object.assign(globalThis, mod.globals);
  nodeGpu = mod.create(dawnFlags);
  return nodeGpu;
}

function looksSoftware(name: string, info: GPUAdapterInfo | undefined, adapter: GPUAdapter): boolean {
  const fallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const infoFallback = (info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined)?.isFallbackAdapter;
  return fallback || infoFallback === true || /llvmpipe|lavapipe|swiftshader|software|warp/i.test(name);
}

function describeAdapter(adapter: GPUAdapter): AdapterReport {
  const info = adapter.info as GPUAdapterInfo | undefined;
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  const name = parts.length ? [...new Set(parts)].join(' / ') : 'unknown adapter';
  const limits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') limits[key] = v;
  }
  return {
    name,
    software: looksSoftware(name, info, adapter),
    features: [...adapter.features].map(String).sort(),
    limits,
    runtime: isNode ? 'node' : 'browser',
  };
}

/** Requests an adapter and a device with the adapter's full limits and the features the engine can use. */
export async function acquireDevice(request: DeviceRequest = {}): Promise<AcquiredDevice> {
  const gpu = await getGpu(request.dawnFlags ?? []);
  const options: GPURequestAdapterOptions = { powerPreference: request.powerPreference ?? 'high-performance' };
  if (request.featureLevel) options.featureLevel = request.featureLevel;
  const adapter = await gpu.requestAdapter(options);
  if (!adapter) throw new NoAdapterError(noAdapterHelp());
  const report = describeAdapter(adapter);
  const wanted: GPUFeatureName[] = [];
  if (request.timestamps !== false && adapter.features.has('timestamp-query')) wanted.push('timestamp-query');
  if (adapter.features.has('shader-f16')) wanted.push('shader-f16');
  if (adapter.features.has('subgroups')) wanted.push('subgroups' as GPUFeatureName);
  const requiredLimits: Record<string, number> = {};
  for (const key of [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBuffersPerShaderStage',
  ]) {
    if (report.limits[key] !== undefined) requiredLimits[key] = report.limits[key];
  }
  const device = await adapter.requestDevice({ requiredFeatures: wanted, requiredLimits });
  return { device, adapter, report };
}
