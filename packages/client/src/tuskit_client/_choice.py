"""Which protocol one upload speaks: tus 1.0.0, the IETF draft, or (``auto``) the draft
where the server announces it. No I/O.

``auto`` sends one OPTIONS carrying ``Upload-Draft-Interop-Version``: a draft server answers
it with ``Upload-Limit`` (tusd, only for an interop version it speaks), ``Accept-Patch:
application/partial-upload`` (draft -10 on) or the echoed version; a tus 1.0.0 server
ignores the field and answers with its ``Tus-*`` headers, which the same answer then gives.
The 104 (Upload Resumption Supported) answer to a creation cannot decide it: aiohttp hands
no informational response to its caller, so the client never sees one. An upload the draft
cannot carry (a checksum, metadata beyond a file name and type) stays on tus 1.0.0.
"""

from dataclasses import dataclass
from functools import partial

from tuskit_client._calls import Calls
from tuskit_client._commands import Flow
from tuskit_client._draft_steps import DraftWire
from tuskit_client._plan import UploadPlan
from tuskit_client._steps import ResponseHead
from tuskit_client._wire import TUS, Choice, Wire
from tuskit_client.exceptions import CapabilityError, ProtocolError
from tuskit_client.log import logger
from tuskit_common import ServerCapabilities


@dataclass(frozen=True, slots=True)
class Asked:
    """An OPTIONS answer already read for this upload (``caps`` None: it told nothing)."""

    caps: ServerCapabilities | None


@dataclass(frozen=True, slots=True)
class Spoken:
    """The protocol of one upload, and the OPTIONS answer if choosing it took one."""

    wire: Wire
    asked: Asked | None = None


@dataclass(frozen=True, slots=True)
class Offer:
    """One OPTIONS answer read both ways."""

    draft: ServerCapabilities | None
    tus: ServerCapabilities | None


def read_offer(draft: DraftWire, response: ResponseHead) -> Offer:
    """The draft's capabilities if the answer announces ``draft``, and tus 1.0.0's if it
    carries ``Tus-Version``; a failure status raises as for any OPTIONS."""
    try:
        tus = TUS.read_options(response)
    except ProtocolError:
        tus = None
    return Offer(draft.read_options(response) if draft.offered(response) else None, tus)


def negotiate(calls: Calls, plan: UploadPlan) -> Flow[Spoken]:
    """The protocol for ``plan``: the client's choice, or for ``auto`` what the server's
    OPTIONS announces. An explicit draft fails before any request on what it cannot carry."""
    draft = calls.draft
    unfit = draft.unfit(metadata_header=plan.metadata_header, checksum=plan.checksum)
    if calls.choice is Choice.TUS:
        return Spoken(TUS)
    if calls.choice is Choice.DRAFT:
        if unfit is not None:
            raise CapabilityError(f"{unfit}; use protocol 'tus' or 'auto'")
        return Spoken(draft)
    target = plan.endpoint or plan.url or plan.stored_url
    assert target is not None
    head = draft.options_request(target, calls.headers)
    offer = yield from calls.request(head, partial(read_offer, draft))
    if offer.draft is None:
        logger.info("%s announces no %s; speaking tus 1.0.0", target, draft.name)
        return Spoken(TUS, Asked(offer.tus))
    if unfit is None and plan.split:
        unfit = "parallel parts need tus 1.0.0's concatenation"
    if unfit is not None:
        logger.info("%s offers the %s, but %s; speaking tus 1.0.0", target, draft.name, unfit)
        return Spoken(TUS, Asked(offer.tus))
    logger.info("%s announces the %s; speaking it", target, draft.name)
    return Spoken(draft, Asked(offer.draft))
