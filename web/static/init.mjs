// Starts GOV.UK Frontend's components. A module script runs after the page
// is parsed, and only in browsers GOV.UK Frontend supports; every page works
// without it. It is a file, not an inline script, so the pages'
// Content-Security-Policy allows no inline script at all.
import { initAll } from './govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()
