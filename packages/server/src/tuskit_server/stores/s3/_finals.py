"""Which final uploads wait for a partial (concatenation-unfinished), kept in the bucket so
that every server sharing it sees finals created through another: an empty marker object
``<prefix><partial>.finals/<final id>`` per partial of an unfinished final, laid when the
final is created and deleted once it is built or removed. A marker a crash left behind is
checked against the final's info object and dropped when stale."""

from tuskit_common import Gone, NotFound, Resource
from tuskit_server.stores.s3._infos import Infos

__all__ = ["FinalsIndex"]


class FinalsIndex(Infos):
    """Mixin: :class:`~tuskit_server.stores.base.SharedFinals` over marker objects."""

    async def _mark_waiting(self, final: Resource) -> None:
        for partial_id in dict.fromkeys(final.partial_ids):
            await self.bucket.put(self.keys(partial_id).finals + final.id, b"")

    async def _unmark_waiting(self, final: Resource) -> None:
        markers = [self.keys(p).finals + final.id for p in dict.fromkeys(final.partial_ids)]
        await self.bucket.delete(*markers)

    async def finals_waiting_for(self, partial_id: str) -> list[str]:
        """Unfinished finals listing ``partial_id`` (from the markers, each checked)."""
        prefix = self.keys(partial_id).finals
        waiting = []
        for key in await self.bucket.keys(prefix, ""):
            final_id = key[len(prefix) :]
            try:
                final = await self.read_info(self.keys(final_id), final_id)
            except (NotFound, Gone):
                final = None
            if final is None or final.is_complete or partial_id not in final.partial_ids:
                await self.bucket.delete(key)  # stale: the final was built or removed
                continue
            waiting.append(final_id)
        return sorted(waiting)
