import torch

import genkit


class BrightnessGap(genkit.Evaluator):
    name = "brightness"
    description = "mean pixel of samples minus mean pixel of the test images"
    needs_samples = True

    @torch.no_grad()
    def evaluate(self, ctx):
        gen = torch.Generator(device=ctx.x.device).manual_seed(ctx.seed)
        drawn = torch.cat([ctx.draw(ctx.batch_size, generator=gen) for _ in range(2)])
        real = ctx.x.float().mean().item() / 255
        ctx.advance(ctx.x.shape[0])
        return genkit.EvalResult(
            metrics={"brightness_gap": drawn.mean().item() - real},
            notes=[f"{drawn.shape[0]} samples drawn with '{ctx.sampler_name}'"],
        )
