// Package clientkey names the client a request comes from, for the limits
// the API and the pages keep per client.
package clientkey

import (
	"net/netip"

	"github.com/gin-gonic/gin"
)

// Of is the client's address (Gin's ClientIP: the connection's peer, or
// what a TRUSTED_PROXIES proxy forwards), an IPv6 client by its /64, which
// one host or home usually holds whole.
func Of(c *gin.Context) string {
	ip := c.ClientIP()
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
