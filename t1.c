#include <curl/curl.h>
#include <unistd.h>
#include <stdio.h>
int main(int c, char **v){ if (c>1) curl_global_init(CURL_GLOBAL_DEFAULT); char b[256]; snprintf(b,256,"grep -E 'VmRSS|RssFile|RssAnon' /proc/%d/status", getpid()); system(b); return 0;}
