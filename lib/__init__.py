"""The ground floor: helpers with no models that import no app of the portal (dates, id bounds,
API and form plumbing, CSV). Every app may import lib; lib imports none of them."""
