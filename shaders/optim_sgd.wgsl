// torch.optim.SGD over a flat parameter buffer, four floats at a time:
//   d = g + wd·w                      (unless the parameter is excluded from weight decay)
//   buf = d on the first step, else momentum·buf + (1 − dampening)·d      (when momentum ≠ 0)
//   d = d + momentum·buf (Nesterov) or d = buf
//   w = w − lr·d
// Its entry points and `table`: optim_entries.wgsl, put after this file.

fn update(i: u32, flags: u32) {
  let wi = w[i];
  var d = g[i];
  if ((flags & 2u) == 0u) { d = d + p.wd * wi; }
  if (p.momentum != 0.0) {
    var b = d;
    if (p.first == 0u) { b = p.momentum * buf[i] + (1.0 - p.dampening) * d; }
    buf[i] = b;
    if (p.nesterov != 0u) { d = d + p.momentum * b; } else { d = b; }
  }
  w[i] = wi - p.lr * d;
}
