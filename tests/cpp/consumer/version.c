/* A C program linking wss::wss from the same package (the C header needs no C++). */
#include <stdio.h>
#include <wss.h>

int main(void) {
  if ((wss_version_number() >> 16) != WSS_VERSION_MAJOR) return 1;
  printf("C consumer ok (wss %s)\n", wss_version());
  return 0;
}
