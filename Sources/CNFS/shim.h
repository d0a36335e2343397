#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <nfsc/libnfs.h>
