/**
 * Tape-based reverse-mode autograd. A differentiable op that sees an input requiring gradients records a
 * Node on its output: the op's name, its parents (the nodes or leaf tensors it was computed from), the
 * tensors its backward rule needs, and the rule itself. `backward()` walks the nodes reachable from the
 * root in reverse topological order.
 *
 * Lifetimes: a node is reference-counted by its output tensor and by the nodes made from it, so a graph
 * lives exactly as long as some tensor that reaches it; saved tensors are views of their own (they keep the
 * storage, not the caller's tensor object) and are released with the node, or right after backward().
 */
import { clone } from '../kernels/copy.js';
import { fillKernel } from '../kernels/creation.js';
import { axpyInPlace, binaryKernel } from '../kernels/elementwise.js';
import { getRuntime, keep } from '../tensor/engine.js';
import { shapeString, type GradNode, type Tensor } from '../tensor/tensor.js';

/**
 * A backward rule: given the output's gradient and the saved tensors, one gradient (or null) per input.
 * `into[i]`, where not null, is a tensor of input i's shape that the rule may add its gradient for input i
 * into in place, returning that very tensor:
 *  - for an intermediate input, a gradient already waiting for it (from another of its consumers), owned by
 *    the tape alone: this saves the tape's add (a ResNet block's input gets its shortcut's gradient so);
 *  - for a leaf, its `.grad` while it is known to hold zeros (`zeroed`, after zeroGrad): adding into zeros
 *    is writing, so a rule whose kernel can only write may write there too, when `into[i].zeroed` (see
 *    {@link writableInto}). This saves the copy into the leaf's gradient (a flat gradient buffer's slot).
 */
export type BackwardRule = (grad: Tensor, saved: readonly Tensor[], into: readonly (Tensor | null)[]) => (Tensor | null)[];

/**
 * `into` (an entry of a rule's `into`) when a kernel may write its result there outright: a leaf's gradient
 * known to hold zeros, of `shape`. Otherwise null (make a new tensor; the tape adds or copies it).
 */
export function writableInto(into: Tensor | null | undefined, shape: readonly number[]): Tensor | null {
  if (!into || !into.zeroed || into.shape.length !== shape.length || into.shape.some((d, i) => d !== shape[i])) return null;
  return into;
}

let gradEnabled = true;

/** Whether ops are being recorded for backward (false inside {@link noGrad}). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording anything on the tape. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Turns recording on or off until turned back (prefer {@link noGrad}, which restores it). */
export function setGradEnabled(on: boolean): void {
  gradEnabled = on;
}

export class Node implements GradNode {
  private refs = 1;
  private saved: Tensor[];
  private consumed = false;

  constructor(
    readonly op: string,
    /** For each input: its node, the leaf tensor itself, or null when it needs no gradient. */
    readonly parents: (Node | Tensor | null)[],
    readonly rule: BackwardRule,
    saved: Tensor[],
  ) {
    this.saved = saved.map((t) => keep(t.view(t.shape)));
    for (const p of parents) if (p instanceof Node) p.ref();
  }

  ref(): void {
    this.refs++;
  }

  unref(): void {
    if (--this.refs > 0) return;
    this.freeSaved();
    for (const p of this.parents) if (p instanceof Node) p.unref();
  }

  freeSaved(): void {
    for (const t of this.saved) t.dispose();
    this.saved = [];
    this.consumed = true;
  }

  run(grad: Tensor, into: readonly (Tensor | null)[] = []): (Tensor | null)[] {
    if (this.consumed) {
      throw new Error(
        `backward: the graph through '${this.op}' was already used by an earlier backward(); ` +
          'pass { retainGraph: true } to the first backward() to run it twice',
      );
    }
    return this.rule(grad, this.saved, into);
  }
}

/**
 * Records `op` on `out` if gradients are enabled and any input requires them; then `out.requiresGrad`
 * is true. Inputs that need no gradient get null from the rule's point of view (their slot is skipped).
 */
export function record(op: string, inputs: readonly Tensor[], out: Tensor, rule: BackwardRule, saved: Tensor[] = []): Tensor {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return out;
  const parents = inputs.map((t) => (t.requiresGrad ? ((t.node as Node | null) ?? t) : null));
  out.node = new Node(op, parents, rule, saved);
  out.requiresGrad = true;
  return out;
}

/** Marks a tensor as a leaf that collects gradients in `.grad`. */
export function requireGrad<T extends Tensor>(t: T, on = true): T {
  if (on && t.dtype !== 'float32') throw new TypeError(`requireGrad: only float32 tensors can have gradients, got ${t.dtype}`);
  t.requiresGrad = on;
  return t;
}

/** A view of `t` outside the graph: same storage, no gradient. */
export function detach(t: Tensor): Tensor {
  return t.view(t.shape);
}

/** Options of {@link backward}. */
export interface BackwardOptions {
  /** Keep the graph's saved tensors so backward can run through it again. */
  retainGraph?: boolean;
}

function topoOrder(root: Node): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  const stack: [Node, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.parents.length) {
      top[1]++;
      const p = node.parents[i];
      if (p instanceof Node && !seen.has(p)) {
        seen.add(p);
        stack.push([p, 0]);
      }
    } else {
      order.push(node);
      stack.pop();
    }
  }
  return order.reverse();
}

/** Adds `g` into a leaf's gradient: the first gradient is taken (or copied, if shared), later ones added in place. */
function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.disposed) {
    g.dispose();
    return;
  }
  if (leaf.grad) {
    if (leaf.grad.zeroed && leaf.grad.size === g.size) {
      // Adding to known zeros is a copy (a memcpy, several times faster than the add kernel).
      getRuntime().copy(g.storage.buffer, g.byteOffset, leaf.grad.storage.buffer, leaf.grad.byteOffset, g.byteLength, 'accumulateGrad');
      leaf.grad.zeroed = false;
    } else axpyInPlace(leaf.grad, g, 1, 1, 'accumulateGrad');
    g.dispose();
    return;
  }
  let own = g;
  if (g.storage.refs > 1 || g.byteOffset !== 0) {
    own = clone(g);
    g.dispose();
  }
  leaf.grad = keep(own);
}

/**
 * Back-propagates from `root`: from a one-element root without `grad`, or with an upstream gradient of the
 * root's shape. Gradients of leaves accumulate into their `.grad`.
 */
export function backward(root: Tensor, grad?: Tensor, options: BackwardOptions = {}): void {
  root.assertAlive('backward');
  if (!root.requiresGrad) throw new Error('backward: the tensor does not require gradients (no input of it had requiresGrad)');
  if (!grad && root.size !== 1) {
    throw new Error(`backward: the root has shape ${shapeString(root.shape)}; pass an upstream gradient of that shape, or reduce it to one element`);
  }
  if (grad && (grad.size !== root.size || grad.shape.length !== root.shape.length || grad.shape.some((d, i) => d !== root.shape[i]))) {
    throw new Error(`backward: upstream gradient ${shapeString(grad.shape)} does not match the root's shape ${shapeString(root.shape)}`);
  }
  const seed = grad ? grad.view(grad.shape) : fillKernel(root.shape, 1);
  const rootNode = root.node as Node | null;
  if (!rootNode) {
    noGrad(() => accumulateLeaf(root, seed));
    return;
  }
  noGrad(() => {
    const order = topoOrder(rootNode);
    const grads = new Map<Node, Tensor>([[rootNode, seed]]);
    for (const node of order) {
      const g = grads.get(node);
      if (!g) continue;
      grads.delete(node);
      // Gradients already waiting for this node's inputs that the rule may add into in place: each at most
      // once, and only where nothing else holds the storage.
      const offered = new Set<Tensor>();
      const into = node.parents.map((parent) => {
        if (parent && !(parent instanceof Node)) {
          // A leaf whose gradient holds zeros (after zeroGrad) and can be bound: the rule may write there.
          const lg = parent.disposed ? null : parent.grad;
          if (!lg || !lg.zeroed || offered.has(lg) || lg.disposed || lg.shape.join() !== parent.shape.join()) return null;
          if (lg.byteOffset % lg.storage.runtime.storageAlignment !== 0) return null;
          offered.add(lg);
          return lg;
        }
        const t = parent instanceof Node ? grads.get(parent) : undefined;
        if (!t || offered.has(t) || t.storage.refs !== 1 || t.byteOffset !== 0) return null;
        offered.add(t);
        return t;
      });
      const inputGrads = node.run(g, into);
      // A rule may hand the same tensor (or g itself) to several inputs: every use but the last of a
      // tensor gets a view of it, so each consumer owns what it receives and may dispose it.
      const uses = new Map<Tensor, number>();
      node.parents.forEach((parent, i) => {
        const gi = inputGrads[i];
        if (parent && gi) uses.set(gi, (uses.get(gi) ?? 0) + 1);
      });
      node.parents.forEach((parent, i) => {
        const raw = inputGrads[i];
        if (!parent || !raw) return;
        const left = uses.get(raw)! - 1;
        uses.set(raw, left);
        const gi = raw === g || left > 0 ? raw.view(raw.shape) : raw;
        if (parent instanceof Node) {
          const prev = grads.get(parent);
          if (prev === gi) return; // added into in place by the rule
          if (prev) {
            grads.set(parent, binaryKernel('add', prev, gi));
            prev.dispose();
            gi.dispose();
          } else grads.set(parent, gi);
        } else if (gi === parent.grad) {
          // Written (or added into zeros) in place by the rule.
          parent.grad.zeroed = false;
        } else {
          accumulateLeaf(parent, gi);
        }
      });
      for (const t of inputGrads) if (t && t !== g && !uses.has(t)) t.dispose();
      g.dispose();
      if (!options.retainGraph) node.freeSaved();
    }
    for (const t of grads.values()) t.dispose();
  });
}
