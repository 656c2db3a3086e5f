"""The LLM proposer: plans and rewrites from a chat model (method.md sections 2 and 3).

The planning prompt shows the menu numbered; the number the model picks is mapped
back to the item's key at once, so a `Plan` names its menu item by key."""

from __future__ import annotations

from autocomp_exo.llm.budget import BudgetExceeded
from autocomp_exo.llm.client import Completion, LLMClient
from autocomp_exo.llm.extract import extract_code, parse_choice, strip_thinking
from autocomp_exo.prompts import builder
from autocomp_exo.proposers.base import Candidate, MenuItem, Plan, Rewrite
from autocomp_exo.search.beam import derive_seed
from autocomp_exo.settings import ModelSettings, PromptSettings
from gemmini.config import DEFAULT_CONFIG, GemminiConfig


class LLMProposer:
    """One model behind an `LLMClient`. Deterministic for a seed given the cache."""

    def __init__(self, client: LLMClient, model: ModelSettings, menu: list[MenuItem], *,
                 gemmini: str | GemminiConfig = DEFAULT_CONFIG,
                 prompts: PromptSettings = PromptSettings()):
        self.client = client
        self.model = model
        self.menu = {m.key: m for m in menu}
        self.gemmini = gemmini
        self.prompts = prompts
        self.name = f"llm:{model.name}"

    def plan(self, candidate: Candidate, menu: list[MenuItem], n: int, *, iteration: int,
             total_iterations: int, seed: int) -> list[Plan]:
        # the iteration numbers stay out of the prompt: a resumed run with another
        # iteration limit must hit the LLM cache (docs/prompts.md)
        messages = builder.plan_messages(candidate, menu, config=self.gemmini,
                                         example=self.prompts.example,
                                         isa_exclude=self.prompts.isa_exclude,
                                         numbers={m.key: m.number for m in self.menu.values()})
        by_number = {m.number: m.key for m in menu}       # the numbers the prompt shows
        plans = []
        for i, got in enumerate(self._sample(messages, n, "plan", seed)):
            text = strip_thinking(got.text) if isinstance(got, Completion) else ""
            if not text:
                continue
            choice = parse_choice(text, list(by_number))
            plans.append(Plan(menu_item=by_number.get(choice), text=text, proposer=self.name,
                              data={"sample": i, "choice_parsed": choice is not None}))
        return plans

    def implement(self, candidate: Candidate, plan: Plan, k: int, *, seed: int) -> list[Rewrite]:
        messages = self._impl_messages(candidate, plan)
        out = []
        for got in self._sample(messages, k, "implement", seed):
            if not isinstance(got, Completion):
                out.append(Rewrite(self.name, None, error=f"request failed: {got}"))
                continue
            code = extract_code(got.text)
            out.append(Rewrite(self.name, code,
                               error=None if code else "no code block in the response"))
        return out

    def repair(self, candidate: Candidate, plan: Plan, rewrite: Rewrite, error: str, *,
               seed: int) -> Rewrite | None:
        """One more attempt, telling the model why its code was rejected."""
        if rewrite.code is None:
            return None
        messages = builder.repair_messages(self._impl_messages(candidate, plan),
                                           f"```c\n{rewrite.code.strip()}\n```", error)
        (got,) = self._sample(messages, 1, "repair", seed)
        if not isinstance(got, Completion):
            return None
        code = extract_code(got.text)
        return Rewrite(self.name, code, error=None if code else "no code block in the response")

    def _impl_messages(self, candidate: Candidate, plan: Plan) -> list[dict]:
        item = self.menu.get(plan.menu_item) or next(
            (m for m in self.menu.values() if m.key == "other"), None)
        return builder.implement_messages(candidate, plan, item,
                                          config=self.gemmini, example=self.prompts.example,
                                          isa_exclude=self.prompts.isa_exclude)

    def _sample(self, messages: list[dict], n: int, phase: str, seed: int) -> list:
        seeds = [derive_seed(seed, i) for i in range(n)]
        results = self.client.complete_many(self.model, messages, n, phase=phase, seeds=seeds)
        spent = [r for r in results if isinstance(r, BudgetExceeded)]
        if spent and not any(isinstance(r, Completion) for r in results):
            raise spent[0]       # nothing to show for this call: stop the search
        return results
