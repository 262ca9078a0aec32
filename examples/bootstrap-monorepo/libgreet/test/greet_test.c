/* Checks libgreet's greeting, including a name too long for the buffer. */
#include <stdio.h>
#include <string.h>
#include "greet.h"

int main(void) {
  char out[16];
  greet("ci3", out, sizeof out);
  if (strcmp(out, "Hello, ci3!") != 0) {
    fprintf(stderr, "unexpected greeting: %s\n", out);
    return 1;
  }
  greet("a name longer than the buffer", out, sizeof out);
  if (strlen(out) != sizeof out - 1) {
    fprintf(stderr, "not truncated: %s\n", out);
    return 1;
  }
  puts("libgreet: greeting ok");
  return 0;
}
