"""Call-back tasks (R8, R17): messages left in the IVR and calls no agent could take, waiting for
an agent to call the customer back. The outbound call-back workflow builds on these tables."""
