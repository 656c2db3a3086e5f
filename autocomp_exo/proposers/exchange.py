"""The exchange proposer (``--proposer exchange --exchange-dir DIR``): the LLM proposer
whose model is whoever answers the request files in DIR (a person with a chat window,
or an agent). The prompts, the cache, resume, the budget and the counts are those of
the LLM proposer; only the wire differs (`autocomp_exo.llm.exchange`)."""

from __future__ import annotations

from typing import Callable

from autocomp_exo.llm.exchange import ExchangeTransport
from autocomp_exo.proposers.llm import LLMProposer
from autocomp_exo.settings import LLMSettings, ModelSettings
from gemmini.errors import ConfigError

EXCHANGE_MODEL = ModelSettings(name="exchange", send_seed=False)


class ExchangeProposer(LLMProposer):
    """An `LLMProposer` named ``exchange:MODEL`` (its client uses an `ExchangeTransport`)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.name = f"exchange:{self.model.name}"


def uses_exchange(proposer: str, llm: LLMSettings) -> bool:
    """Whether the LLM calls of a run go through an exchange directory."""
    return proposer == "exchange" or llm.exchange_dir is not None


def exchange_models(llm: LLMSettings) -> tuple[ModelSettings, ...]:
    """The models of an exchange run: those configured, or one named ``exchange``."""
    return llm.models if llm.models != LLMSettings().models else (EXCHANGE_MODEL,)


def exchange_transport(llm: LLMSettings, log: Callable | None = None) -> ExchangeTransport:
    """The transport of ``llm.exchange_dir`` (a `ConfigError` when it is not set)."""
    if not llm.exchange_dir:
        raise ConfigError("the exchange proposer needs an exchange directory "
                          "(--exchange-dir DIR or llm.exchange_dir)")
    return ExchangeTransport(llm.exchange_dir, poll=llm.exchange_poll,
                             timeout=llm.exchange_timeout, log=log)
