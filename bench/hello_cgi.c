/* hello_cgi: the floor for process start. Linked statically, so
 * it pays for fork, exec and exit and nothing else. */
#include <stdio.h>

int main(void) {
    fputs("Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n", stdout);
    return 0;
}
