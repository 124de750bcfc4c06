"""Application intake: cycles (calls), applications, eligibility screen, city review and
recommendation; the gateway through which human decisions reach the cycle workflow."""
