/* libgreet: the greeting every program of the monorepo prints. */
#include <stdio.h>
#include "greet.h"

int greet(const char *name, char *out, size_t size) {
  return snprintf(out, size, "Hello, %s!", name);
}
