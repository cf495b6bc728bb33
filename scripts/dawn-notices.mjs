// Dawn's native code prints notices about limits it lowers straight to the process's stderr (file descriptor
// 2) when the first adapter is requested on Vulkan drivers that report very large limits, Mesa's lavapipe
// among them:
//   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
//   Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
// No Dawn option turns them off (they are printed while Dawn normalizes the adapter's limits, before any
// device is requested). scripts/cli.mjs passes a command's fd 2 through this filter.

/** One of Dawn's notices, as a whole line. */
export const DAWN_NOTICE = /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/;

/**
 * A line filter over a byte stream: `push(chunk)` passes every complete line except Dawn's notices to
 * `write`, `end()` passes what is left. Lines may arrive split across chunks.
 */
export function dawnNoticeFilter(write) {
  let pending = '';
  const decoder = new TextDecoder();
  const emit = (text) => {
    const lines = (pending + text).split('\n');
    pending = lines.pop();
    const kept = lines.filter((line) => !DAWN_NOTICE.test(line));
    if (kept.length) write(kept.join('\n') + '\n');
  };
  return {
    push(chunk) {
      emit(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    },
    end() {
      emit(decoder.decode());
      if (pending && !DAWN_NOTICE.test(pending)) write(pending);
      pending = '';
    },
  };
}
