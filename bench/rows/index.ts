/** Every row module, imported for its registerRows() side effect. Add new families here. */
import './matmul.js';
