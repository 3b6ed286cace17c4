/* evp_floor: the floor for process start of a CGI that is a static PIE with
 * OpenSSL 3's EVP linked in, as ours are. It answers like
 * hello_cgi, but EVP_MD_fetch, and with it the default provider's algorithm
 * tables, is linked; relocating those at a random address before main() is
 * what it measures. It fetches MD5 only when EVP_FLOOR_FETCH is set. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    if (getenv("EVP_FLOOR_FETCH") != NULL) {
        EVP_MD_free(EVP_MD_fetch(NULL, "MD5", NULL));
    }
    fputs("Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n", stdout);
    return 0;
}
