/** Every row module, imported for its registerRows() side effect. Add new families here. */
import './matmul.js';
import './conv2d.js';
import './batchnorm.js';
import './resnet.js';
import './byol.js';
import './pool.js';
import './reduce.js';
import './optim.js';
import './augment.js';
import './step-host.js';
