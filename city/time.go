package city

import (
	"loa/city/httpapi"
	"loa/schedule"
)

// TimeResponse is GET /api/v1/time without a nonce (city/httpapi).
type TimeResponse = httpapi.TimeResponse

// Today is the current date in the city's zone.
func (c *City) Today() schedule.Date { return schedule.DateOf(c.Now().In(c.loc)) }
