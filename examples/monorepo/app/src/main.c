#include <stdio.h>
#include "greet.h"

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "monorepo";
  printf("%s, %s! (%d letters)\n", greet_word(), name, greet_count(name));
  return 0;
}
