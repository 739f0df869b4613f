package proxyargs

import (
	"reflect"
	"testing"
)

func TestFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		want map[string]string
	}{
		{"none", []string{"PATH=/bin", "HOME=/root"}, map[string]string{}},
		{"lower and upper", []string{"http_proxy=http://p:3128", "HTTPS_PROXY=http://q:3128", "PATH=/bin"},
			map[string]string{"http_proxy": "http://p:3128", "HTTPS_PROXY": "http://q:3128"}},
		{"all five", []string{"http_proxy=a", "https_proxy=b", "ftp_proxy=c", "no_proxy=localhost,127.0.0.1", "all_proxy=socks5://e"},
			map[string]string{"http_proxy": "a", "https_proxy": "b", "ftp_proxy": "c", "no_proxy": "localhost,127.0.0.1", "all_proxy": "socks5://e"}},
		{"empty values are not passed", []string{"http_proxy=", "NO_PROXY=x"}, map[string]string{"NO_PROXY": "x"}},
		{"lookalikes ignored", []string{"my_http_proxy=a", "Http_Proxy=b", "http_proxy_x=c"}, map[string]string{}},
		{"value with =", []string{"http_proxy=http://u:p@h:1/?a=b"}, map[string]string{"http_proxy": "http://u:p@h:1/?a=b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromEnv(tc.env); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
