/* app: prints the banner next to the binary, then greets its first argument. */
#include <stdio.h>
#include <string.h>
#include "greet.h"

int main(int argc, char **argv) {
  char path[4096];
  const char *slash = strrchr(argv[0], '/');
  int dir = slash ? (int)(slash - argv[0] + 1) : 0;
  snprintf(path, sizeof path, "%.*sbanner.txt", dir, argv[0]);
  FILE *banner = fopen(path, "r");
  if (banner) {
    char line[256];
    while (fgets(line, sizeof line, banner)) fputs(line, stdout);
    fclose(banner);
  }
  char out[256];
  greet(argc > 1 ? argv[1] : "world", out, sizeof out);
  puts(out);
  return 0;
}
