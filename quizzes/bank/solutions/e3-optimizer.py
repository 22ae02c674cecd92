optimizer = torch.optim.Adam([t for t in model.parameters() if t.requires_grad], lr=3e-4)
