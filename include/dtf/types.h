/* Basic limits shared by every layer. */
#ifndef DTF_TYPES_H
#define DTF_TYPES_H

/* Tensors have 2 to DTF_MAX_MODES modes. */
#define DTF_MAX_MODES 8

#endif
