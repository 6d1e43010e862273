"""The Content Security Policy header of HTML pages (settings.FLIPBOOK_CSP)."""

from __future__ import annotations

from streams.conf import flipbook_settings


def content_security_policy() -> tuple[str, tuple[str, ...]]:
    """The policy and the path prefixes it is not sent on (FLIPBOOK_CSP,
    FLIPBOOK_CSP_EXEMPT_PATHS); an empty policy sends none."""
    policy = flipbook_settings.CSP
    exempt = tuple(flipbook_settings.CSP_EXEMPT_PATHS or ())
    return policy, exempt


class ContentSecurityPolicyMiddleware:
    """Send the policy with every HTML response, so an injected script cannot run."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy, exempt = content_security_policy()
        if (
            policy
            and "Content-Security-Policy" not in response
            and response.get("Content-Type", "").startswith("text/html")
            and not request.path.startswith(exempt)
        ):
            response["Content-Security-Policy"] = policy
        return response
